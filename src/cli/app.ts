import { Conveyor } from "../conveyor.js";
import type { CliIO } from "./io.js";
import { assertStoreExists } from "./options.js";

/**
 * Opens the app on `url`, runs `fn`, and closes the app whatever happens. With `mustExist`, a SQLite path
 * that does not exist is refused instead of created (read and steer commands).
 */
export async function withApp<T>(
  url: string,
  io: CliIO,
  fn: (app: Conveyor) => Promise<T>,
  options: { mustExist?: boolean } = {},
): Promise<T> {
  if (options.mustExist) assertStoreExists(url, io);
  const app = await Conveyor.open({ store: url });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
