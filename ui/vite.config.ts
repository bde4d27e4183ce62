// Builds the web view's assets into dist/, which the desktop binary embeds, and runs the unit
// tests in jsdom with Svelte's browser build.
import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  // The window loads assets from Tauri's own protocol; relative paths keep them working there.
  base: "./",
  clearScreen: false,
  build: {
    target: "safari15",
    outDir: "dist",
    emptyOutDir: true,
    // The content security policy forbids inline script, so never inline modules or assets.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  // Component tests mount Svelte's browser build, not its server renderer.
  resolve: mode === "test" ? { conditions: ["browser"] } : undefined,
  test: {
    environment: "jsdom",
    // Globals let @testing-library unmount each test's components after it ends.
    globals: true,
    include: ["src/**/*.test.ts"],
  },
}));
