import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// `npm run dev` proxies the API to a manager on the default port (`hearth up`).
export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: { proxy: { '/v1': { target: 'http://127.0.0.1:18080', ws: true } } },
  build: { outDir: 'dist', emptyOutDir: true },
});
