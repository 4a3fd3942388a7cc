import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The vendor's dashboard: built to out/dashboard and served by the billing server under /admin/.
export default defineConfig({
  root: resolve(import.meta.dirname, 'src-dashboard'),
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: resolve(import.meta.dirname, 'out/dashboard'),
    emptyOutDir: true,
  },
});
