/**
 * Builds the Flink page into one file, ../static/flink-page.js (scripts/build-ui; the test
 * tests/unit/test_ui_bundle.py builds it again and compares the bytes).
 *
 * A UMD bundle, as Airflow's react plugin template makes: loaded by the Airflow UI with import(),
 * it sets globalThis.AirflowPlugin to the page's function component. React, ReactDOM, the JSX
 * runtime, React Router, Chakra UI and Emotion are the Airflow UI's own (globals it sets for
 * plugins, Airflow 3.2+): never bundled, so the page is small and renders with Airflow's theme.
 */
import { defineConfig, type Plugin } from "vite";

const BANNER =
  "/* The Flink page of the Airflow UI (airflow-provider-flink), a react_apps plugin. Built from " +
  "airflow_provider_flink/ui/frontend by scripts/build-ui: do not edit. */";

/** The banner, after minification (which drops rollup's own banner comment). */
const banner: Plugin = {
  name: "flink-page-banner",
  enforce: "post",
  generateBundle(_options, bundle) {
    for (const chunk of Object.values(bundle)) {
      if (chunk.type === "chunk") chunk.code = `${BANNER}\n${chunk.code}`;
    }
  },
};

const globals: Record<string, string> = {
  react: "React",
  "react-dom": "ReactDOM",
  "react/jsx-runtime": "ReactJSXRuntime",
  "react-router-dom": "ReactRouterDOM",
  "@chakra-ui/react": "ChakraUI",
  "@emotion/react": "EmotionReact",
};

export default defineConfig({
  logLevel: "warn",
  // No public/ folder, no HTML: a library build of src/main.tsx only.
  publicDir: false,
  esbuild: { jsx: "automatic", legalComments: "none" },
  plugins: [banner],
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: "../static",
    emptyOutDir: false, // ../static holds only the bundle, but never delete what is not ours
    target: "es2020",
    minify: "esbuild",
    sourcemap: false,
    reportCompressedSize: false,
    lib: {
      entry: "src/main.tsx",
      name: "AirflowPlugin",
      formats: ["umd"],
      fileName: () => "flink-page.js",
    },
    rollupOptions: {
      external: Object.keys(globals),
      output: {
        globals,
        exports: "default",
      },
    },
  },
});
