/** Small pieces of the page: tooltips, ages, state badges, links into the Airflow UI. */
import { Badge, Box, Link, Portal, Table, Tooltip } from "@chakra-ui/react";
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { Link as RouterLink } from "react-router-dom";

import { age, atFromAge, utc } from "./format";

/**
 * A Chakra tooltip that costs nothing until the pointer (or the keyboard's focus) reaches it: a
 * page of thousands of rows holds thousands of hover texts. The wrapper stays the same element
 * when the tooltip opens (its children keep their focus); the tooltip anchors to it by id.
 */
export function Tip({
  content,
  children,
  focusable = false,
}: {
  content: ReactNode;
  children: ReactNode;
  focusable?: boolean; // the wrapper takes the focus itself (it wraps a disabled button)
}) {
  const id = `flink-tip-${useId().replace(/[^a-zA-Z0-9_-]/g, "")}`;
  const [open, setOpen] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  if (content === null || content === undefined || content === "") return <>{children}</>;
  const show = (delay: number) => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setOpen(true), delay);
  };
  const hide = () => {
    window.clearTimeout(timer.current);
    setOpen(false);
  };
  return (
    <>
      <Box
        as="span"
        display="inline-block"
        id={id}
        tabIndex={focusable ? 0 : undefined}
        onPointerEnter={() => show(300)}
        onPointerLeave={hide}
        onFocus={() => show(0)}
        onBlur={hide}
        onKeyDown={(event) => event.key === "Escape" && hide()}
      >
        {children}
      </Box>
      {open ? (
        <Tooltip.Root open ids={{ trigger: id }} positioning={{ placement: "top" }} lazyMount unmountOnExit>
          <Portal>
            <Tooltip.Positioner>
              <Tooltip.Content maxW="md" whiteSpace="pre-line" data-testid="tooltip">
                {content}
              </Tooltip.Content>
            </Tooltip.Positioner>
          </Portal>
        </Tooltip.Root>
      ) : null}
    </>
  );
}

/** "12 s ago", the UTC time on hover. `at` (epoch s) when known, else from the answer's time. */
export function Age({
  seconds,
  at,
  fetchedAt,
  extra,
}: {
  seconds: number | null | undefined;
  at?: number | null;
  fetchedAt: number;
  extra?: ReactNode;
}) {
  if (seconds === null || seconds === undefined) return <>-</>;
  const when = at ?? atFromAge(seconds, fetchedAt);
  return (
    <Tip
      content={
        <>
          {utc(when)}
          {extra ? (
            <>
              {"\n"}
              {extra}
            </>
          ) : null}
        </>
      }
    >
      <Box as="span" whiteSpace="nowrap">
        {age(seconds)}
      </Box>
    </Tip>
  );
}

/** A palette of Airflow's theme (its semantic tokens follow light and dark mode). */
export function jobStatePalette(state: string): string {
  switch (state) {
    case "RUNNING":
      return "success";
    case "FAILED":
    case "FAILING":
      return "failed";
    case "RESTARTING":
    case "CANCELLING":
    case "SUSPENDED":
      return "warning";
    case "CREATED":
    case "INITIALIZING":
    case "RECONCILING":
      return "info";
    default: // UNKNOWN (cluster not observed: never red), NONE, FINISHED, CANCELED
      return "gray";
  }
}

export function lifecyclePalette(lifecycle: string): string {
  switch (lifecycle) {
    case "stable":
      return "success";
    case "unhealthy":
      return "failed";
    case "rolled-back":
    case "stopped":
      return "warning";
    case "new":
    case "deploying":
    case "upgrading":
      return "info";
    default: // suspended, unknown
      return "gray";
  }
}

export function StateBadge({ value, palette, testId }: { value: string; palette: string; testId?: string }) {
  return (
    <Badge colorPalette={palette} variant={palette === "gray" ? "outline" : "subtle"} data-testid={testId}>
      {value}
    </Badge>
  );
}

/** A link to a page of the Airflow UI (`path` relative to its root: "dags/..."). */
export function AirflowLink({ path, children }: { path: string; children: ReactNode }) {
  return (
    <Link asChild color="fg.info" whiteSpace="nowrap">
      <RouterLink to={`/${path.replace(/^\//, "")}`}>{children}</RouterLink>
    </Link>
  );
}

export function ExternalLink({ href, children, title }: { href: string; children: ReactNode; title?: string }) {
  return (
    <Link href={href} target="_blank" rel="noopener noreferrer" color="fg.info" title={title} whiteSpace="nowrap">
      {children}
    </Link>
  );
}

/** A table body's one row when it has none: what is missing, across every column. */
export function EmptyRow({ columns, children, testId }: { columns: number; children: ReactNode; testId?: string }) {
  return (
    <Table.Row>
      <Table.Cell colSpan={columns} color="fg.muted" data-testid={testId}>
        {children}
      </Table.Cell>
    </Table.Row>
  );
}
