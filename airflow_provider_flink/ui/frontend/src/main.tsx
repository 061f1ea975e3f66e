/**
 * The bundle's entry: the Flink page as the function component the Airflow UI renders for the
 * plugin's react app (its default export becomes globalThis.AirflowPlugin; the UI keeps it as
 * globalThis.Flink, the app's name, and so do we).
 *
 * It renders inside the Airflow UI's own router, with the UI's Chakra UI and theme
 * (globalThis.ChakraUISystem): colours are the theme's semantic tokens, which follow the UI's
 * light or dark mode (next-themes puts the class "dark" on <html>).
 */
import { ChakraProvider } from "@chakra-ui/react";

import { FlinkApp } from "./App";

export interface PluginProps {
  dagId?: string;
  runId?: string;
  taskId?: string;
  mapIndex?: string;
}

function FlinkPage(_props: PluginProps) {
  const system = globalThis.ChakraUISystem;
  if (globalThis.ChakraUI === undefined || system === undefined) {
    // An Airflow UI that lends plugins no Chakra UI (3.1): the provider offers the server-rendered
    // page there instead (ui/plugin.py); this only shows when a react app was configured anyway.
    return (
      <div data-testid="flink-page" style={{ padding: "1rem" }}>
        This Airflow UI does not provide Chakra UI to plugins (Airflow 3.2 or newer does):{" "}
        <a href={new URL("flink/", document.baseURI).href}>open the Flink page</a>.
      </div>
    );
  }
  return (
    <ChakraProvider value={system}>
      <FlinkApp />
    </ChakraProvider>
  );
}

globalThis.Flink = FlinkPage;

export default FlinkPage;
