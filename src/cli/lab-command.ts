/**
 * `synod lab`: serves the browser lab (built by `npm run lab:build`) on 127.0.0.1.
 */
import { Command, InvalidArgumentError } from 'commander';
import { startLabServer } from '../lab-server/serve.js';
import type { CliIo } from './io.js';

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

export function labCommand(io: CliIo): Command {
  return new Command('lab')
    .description('serve the browser lab on 127.0.0.1 until Ctrl-C')
    .option('--port <port>', 'port to listen on', parsePort, 8080)
    .action(async (options: { port: number }) => {
      const lab = await startLabServer({ port: options.port, host: '127.0.0.1' });
      io.out(`Synod lab: ${lab.url}`);
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await lab.close();
    });
}
