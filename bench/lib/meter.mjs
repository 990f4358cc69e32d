import { Redis } from "ioredis";

/**
 * Reads the counters a row reports from a Redis server: commands processed and CPU time (main process
 * plus children), from `INFO stats` and `INFO cpu`.
 * @param {import("ioredis").Redis} redis
 * @returns {Promise<{ commands: number, cpuMs: number }>}
 */
async function redisCounters(redis) {
  const text = await redis.info();
  /** @param {string} key */
  const field = (key) => {
    const m = new RegExp(`^${key}:([0-9.]+)`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    commands: field("total_commands_processed"),
    cpuMs: (field("used_cpu_user") + field("used_cpu_sys")) * 1000,
  };
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
  /** @type {{ commands: number, cpuMs: number } | null} */
  let redis0 = null;
  return {
    async start() {
      if (redis) redis0 = await redisCounters(redis);
      cpu0 = process.cpuUsage();
    },
    /**
     * @returns {Promise<{ cpuNodeMs: number, redisCommands: number | null, cpuRedisMs: number | null }>}
     */
    async stop() {
      const cpu = process.cpuUsage(cpu0 ?? undefined);
      const cpuNodeMs = Math.round((cpu.user + cpu.system) / 1000);
      if (!redis || !redis0) return { cpuNodeMs, redisCommands: null, cpuRedisMs: null };
      const r1 = await redisCounters(redis);
      // Redis counts a command after running it: the first INFO falls inside the delta, the second does not.
      return {
        cpuNodeMs,
        redisCommands: r1.commands - redis0.commands - 1,
        cpuRedisMs: Math.round(r1.cpuMs - redis0.cpuMs),
      };
    },
    async close() {
      if (redis) await redis.quit();
    },
  };
}
