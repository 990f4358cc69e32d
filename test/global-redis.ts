import { RedisServer } from "./helpers/redis-server.js";

/**
 * vitest global setup: one redis-server for the whole run, unless `REDIS_URL` names one. Test files get its
 * URL as `REDIS_URL` and isolate themselves with a fresh key prefix per store; tests that kill or reconfigure
 * Redis start servers of their own.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) return async () => {};
  const server = await RedisServer.start();
  process.env.REDIS_URL = server.url;
  return async () => {
    await server.stop();
  };
}
