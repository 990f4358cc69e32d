/**
 * `conveyor/process`: Erlang-style processes for one Node.js thread (and
 * processes hosted in worker threads of their own, `host: "thread"`). Spawn async functions as processes with
 * PIDs and mailboxes, send messages by PID or registered name on topics, receive them through channels,
 * watch processes with monitors and links, and restart them with supervisors. See docs/guides/processes.md.
 */
export { Channel, type ChannelOptions, type OverflowPolicy, type TryReceiveResult } from "./channel.js";
export {
  CallTimeoutError,
  type ExitReason,
  isOrderlyExit,
  NameTakenError,
  NoProcessError,
  PayloadCloneError,
  ProcessExitError,
  RestartIntensityError,
  ThreadExitError,
} from "./errors.js";
export { EXIT, type ExitEvent, LINK_DOWN, type LinkDownEvent, type ProcessEvent } from "./events.js";
export { DEFAULT_MAILBOX_SIZE, type MailboxOptions } from "./mailbox.js";
export { Message } from "./message.js";
export { type CallOptions, createNode, type NodeOptions, ProcessNode, type SpawnOptions } from "./node.js";
export { formatPid, type Pid, pidNode } from "./pid.js";
export {
  type ListenOptions,
  ProcessContext,
  type ProcessFn,
  type ProcessOptions,
  type Self,
} from "./process.js";
export { LocalRegistry, type Registry } from "./registry.js";
export { type ChannelValue, type SelectResult, select } from "./select.js";
export {
  type ChildInfo,
  type ChildSpec,
  type RestartStrategy,
  type RestartType,
  type SupervisorOptions,
  supervisor,
  WHICH_CHILDREN,
} from "./supervisor.js";
export type { ThreadModule } from "./thread.js";
export { type ThreadProcessFn, ThreadSelf } from "./thread-self.js";
export { after, TimerChannel, tick } from "./timers.js";
