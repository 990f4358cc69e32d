#!/usr/bin/env node
/**
 * The `conveyor` executable: runs the CLI on this process's arguments and streams, and sets the exit code.
 * Long-running commands (worker, demo) keep the process alive until they stop on their own or on a signal.
 */
import { run } from "./run.js";

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
