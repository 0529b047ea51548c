#!/usr/bin/env node
// The `synod` launcher: the command itself is compiled TypeScript (npm run build).
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write('synod: dist/ is missing or stale; run `npm run build` first\n');
  process.exit(2);
}
// `synod sim --verbose | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await main(process.argv);
