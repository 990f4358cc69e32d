/**
 * The shape every system adapter in bench/systems/ returns from `open()`. Scenario scripts only talk to this
 * interface, so adding a system (e.g. the coming Conveyor Redis store) means one adapter and one registry
 * entry in ./index.mjs.
 *
 * @typedef {object} OpenOptions
 * @property {string} queue Queue name used by every role of one measurement.
 * @property {string | null} redisUrl Redis server URL (Redis-backed systems).
 * @property {string | null} dbPath SQLite file (conveyor-sqlite); a fresh file per measurement.
 *
 * @typedef {object} WorkerOptions
 * @property {number} concurrency Jobs handled at once.
 * @property {(data: any) => void} [onStart] Called first thing in the job handler with the job's data.
 * @property {(data?: any) => void} onCompleted Called once per job when the system reports it completed
 *   (stored), with the job's data (adapters with `groups: true` pass it; the others may not).
 *
 * @typedef {object} GroupedItem
 * @property {string} group The group key: jobs of one group run one at a time, in enqueue order.
 * @property {object} data The job's data.
 *
 * @typedef {object} BenchWorker
 * @property {() => Promise<void>} start Begins consuming; timing starts just before this call.
 * @property {() => Promise<void>} stop Stops consuming and releases connections.
 *
 * @typedef {object} BenchSystem
 * @property {() => Promise<void>} ready Opens the producer's connections (so no timed call pays for them).
 * @property {(data: object) => Promise<unknown>} enqueue Stores one job; resolves once acknowledged.
 * @property {(items: object[]) => Promise<unknown>} enqueueMany Stores jobs with the system's bulk call.
 * @property {(items: GroupedItem[]) => Promise<unknown>} [enqueueGrouped] Stores jobs, each in its group
 *   (per-group FIFO), with the system's bulk call, in array order. Systems with `groups: true` have it.
 * @property {(options: WorkerOptions) => Promise<BenchWorker>} worker Builds and connects a worker (not started).
 * @property {() => Promise<void>} close Releases everything `open()` created.
 */
export {};
