/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The exchange serves the built files itself; in development Vite proxies the API (and the
// push WebSocket) to the server on :3005. EXCHANGE_API overrides the target (e.g. the mock).
declare const process: { env: Record<string, string | undefined> };
const target = process.env.EXCHANGE_API ?? 'http://localhost:3005';

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/api': { target, changeOrigin: false, ws: true },
    },
  },
  preview: {
    proxy: {
      '/api': { target, changeOrigin: false, ws: true },
    },
  },
  build: {
    // Straight into the server's static files: `dotnet run` serves them, `dotnet publish` ships them.
    outDir: '../src/Exchange.Server/wwwroot',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
