import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The gateway serves the build (web/dist) at /; `npm run dev -w web` serves the sources on
// :5173 and sends /api to the gateway of `make up` (ALLOWED_ORIGINS lists :5173 for CORS).
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: { "/api": { target: gateway, changeOrigin: false } },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // the CSP forbids inline scripts and data: scripts: nothing is inlined as a data URL
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
