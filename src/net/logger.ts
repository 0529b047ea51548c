/**
 * The logging port of src/net. Its call shape, `(fields, message)`, is pino's,
 * so a pino logger can be passed as is; tests pass a recording one.
 */
export interface Logger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export const silentLogger: Logger = Object.freeze({
  warn: () => {},
  info: () => {},
  debug: () => {},
});
