// Builds the lab into src/lab/dist (npm run lab:build). The lab imports the
// protocol code from src/core, src/sim, src/check and src/explore as it is:
// Vite resolves their '.js' import specifiers to the '.ts' sources.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: { host: '127.0.0.1' },
});
