import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// `npm run dev` proxies the API to a manager on the default port (`hearth up`).
export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: { proxy: { '/v1': { target: 'http://127.0.0.1:18080', ws: true } } },
  // The entry chunk holds React, the router, TanStack Query and the contract's zod schemas (the
  // SDK validates against them); `npm run bench:web` reports its gzipped size.
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 600 },
});
