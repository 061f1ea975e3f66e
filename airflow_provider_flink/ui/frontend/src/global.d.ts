import type { SystemContext } from "@chakra-ui/react";

declare global {
  // Set by the Airflow UI (3.2+) for its react_apps plugins: the theme, and the libraries
  // (React, ReactDOM, ReactJSXRuntime, ReactRouterDOM, ChakraUI, EmotionReact) the bundle uses.
  // eslint-disable-next-line no-var
  var ChakraUISystem: SystemContext | undefined;
  // eslint-disable-next-line no-var
  var ChakraUI: unknown;
  // eslint-disable-next-line no-var
  var Flink: unknown;
}

export {};
