/**
 * `conveyor/dashboard`: the web dashboard over the admin API. `createDashboard` returns a node:http request
 * handler to mount in an app's own server; `serveDashboard` runs it on its own server (127.0.0.1 by default).
 * See docs/guides/dashboard.md.
 */
export type { DashboardAdmin } from "./admin-port.js";
export {
  createDashboard,
  type DashboardHandler,
  type DashboardOptions,
  type MetricsHandler,
} from "./handler.js";
export { type DashboardAuth, SESSION_MAX_AGE_MS } from "./security.js";
export {
  type DashboardServer,
  DEFAULT_DASHBOARD_PORT,
  type ServeDashboardOptions,
  serveDashboard,
} from "./server.js";
