import { Redis } from "ioredis";

/**
 * Reads the counters a row reports from a Redis server: commands processed, calls per command name and CPU
 * time (main process plus children), from `INFO all` (stats, commandstats, cpu). Commands run inside Lua
 * scripts count too, in the total and under their own names.
 * @param {import("ioredis").Redis} redis
 * @returns {Promise<{ commands: number, cpuMs: number, byName: Map<string, number> }>}
 */
async function redisCounters(redis) {
  const text = await redis.info("all");
  /** @param {string} key */
  const field = (key) => {
    const m = new RegExp(`^${key}:([0-9.]+)`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  /** @type {Map<string, number>} */
  const byName = new Map();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) byName.set(m[1], Number(m[2]));
  return {
    commands: field("total_commands_processed"),
    cpuMs: (field("used_cpu_user") + field("used_cpu_sys")) * 1000,
    byName,
  };
}

/**
 * Calls per job of each Redis command over the timed part, largest first (the meter's INFO left out).
 * @param {{ redisCommandsByName: Record<string, number> | null }} m
 * @param {number} jobs
 * @returns {Record<string, number> | null}
 */
export function commandsPerJobByName(m, jobs) {
  if (!m.redisCommandsByName) return null;
  const entries = Object.entries(m.redisCommandsByName)
    .map(
      ([name, calls]) => /** @type {[string, number]} */ ([name, Math.round((calls / jobs) * 1000) / 1000]),
    )
    .filter(([, perJob]) => perJob >= 0.001)
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries);
}

/**
 * Measures this process's CPU time and, when `redisUrl` is given, the Redis server's commands and CPU time
 * between `start()` and `stop()`. The meter's own INFO command inside the window is subtracted.
 * @param {{ redisUrl?: string | null }} options
 */
export async function createMeter({ redisUrl }) {
  const redis = redisUrl ? new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 }) : null;
  if (redis) await redis.connect();
  /** @type {NodeJS.CpuUsage | null} */
  let cpu0 = null;
  /** @type {{ commands: number, cpuMs: number, byName: Map<string, number> } | null} */
  let redis0 = null;
  return {
    async start() {
      if (redis) redis0 = await redisCounters(redis);
      cpu0 = process.cpuUsage();
    },
    /**
     * @returns {Promise<{ cpuNodeMs: number, redisCommands: number | null, cpuRedisMs: number | null,
     *   redisCommandsByName: Record<string, number> | null }>}
     */
    async stop() {
      const cpu = process.cpuUsage(cpu0 ?? undefined);
      const cpuNodeMs = Math.round((cpu.user + cpu.system) / 1000);
      if (!redis || !redis0)
        return { cpuNodeMs, redisCommands: null, cpuRedisMs: null, redisCommandsByName: null };
      const r1 = await redisCounters(redis);
      // Redis counts a command after running it: the first INFO falls inside the delta, the second does not.
      /** @type {Record<string, number>} */
      const byName = {};
      for (const [name, calls] of r1.byName) {
        const delta = calls - (redis0.byName.get(name) ?? 0) - (name === "info" ? 1 : 0);
        if (delta > 0) byName[name] = delta;
      }
      return {
        cpuNodeMs,
        redisCommands: r1.commands - redis0.commands - 1,
        cpuRedisMs: Math.round(r1.cpuMs - redis0.cpuMs),
        redisCommandsByName: byName,
      };
    },
    async close() {
      if (redis) await redis.quit();
    },
  };
}
