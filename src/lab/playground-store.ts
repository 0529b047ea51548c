/**
 * The playground's session, shared by the playground view and the scenarios
 * view: the cluster's shape, the seed and the timeline of actions. The model
 * shown is the replay of the actions up to the cursor, extended in place when
 * an action is appended at the end.
 */
import { LabActionError, Playground, replayPlayground } from '../explore/lab/playground.js';
import { defaultPlaygroundScenario, type PlaygroundAction, type PlaygroundScenario } from '../explore/lab/playground-scenario.js';
import { Timeline } from '../explore/lab/timeline.js';

export type PlaygroundConfig = Omit<PlaygroundScenario, 'actions'>;

class PlaygroundStore {
  config: PlaygroundConfig;
  timeline: Timeline<PlaygroundAction>;
  error: string | null = null;
  private model: Playground | null = null;
  private readonly listeners = new Set<() => void>();

  constructor() {
    const initial = defaultPlaygroundScenario();
    this.config = { seed: initial.seed, replicas: initial.replicas, bug: initial.bug };
    this.timeline = new Timeline(initial.actions);
  }

  /** The scenario with every recorded action (what links and exported tests carry). */
  scenario(): PlaygroundScenario {
    return { ...this.config, actions: this.timeline.actions };
  }

  /** The scenario up to the cursor: what is on screen. */
  visibleScenario(): PlaygroundScenario {
    return { ...this.config, actions: this.timeline.applied };
  }

  current(): Playground {
    if (this.model === null || this.model.actionsApplied !== this.timeline.cursor) {
      try {
        this.model = replayPlayground(this.scenario(), this.timeline.cursor);
      } catch (error) {
        this.error = `replay stopped: ${(error as Error).message}`;
        this.timeline.jump(0);
        this.model = replayPlayground(this.scenario(), 0);
      }
    }
    return this.model;
  }

  /** Records and applies an action; an action that does not fit the state is refused with a message. */
  act(action: PlaygroundAction): void {
    const model = this.current();
    const atEnd = !this.timeline.canForward;
    this.error = null;
    try {
      if (atEnd) {
        model.apply(action);
      } else {
        const probe = replayPlayground(this.visibleScenario());
        probe.apply(action);
        this.model = probe;
      }
      this.timeline.push(action);
    } catch (error) {
      if (!(error instanceof LabActionError)) throw error;
      this.error = error.message;
      this.model = null;
    }
    this.changed();
  }

  load(scenario: PlaygroundScenario, cursor = scenario.actions.length): void {
    this.config = { seed: scenario.seed, replicas: scenario.replicas, bug: scenario.bug };
    this.timeline = new Timeline(scenario.actions, cursor);
    this.model = null;
    this.error = null;
    this.changed();
  }

  changed(): void {
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): void {
    this.listeners.add(listener);
  }
}

export const playgroundStore = new PlaygroundStore();
