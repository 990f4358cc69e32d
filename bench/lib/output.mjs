/**
 * Prints the one JSON result line a scenario process reports, then exits: the orchestrator reads the last
 * stdout line that starts with "{". Exiting explicitly keeps a stray handle in a peer library from holding
 * the process open.
 * @param {Record<string, unknown>} result
 */
export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

/**
 * Runs a scenario's main function, reporting a failure as `{ error }` and exit code 1.
 * @param {() => Promise<void>} main
 */
export function run(main) {
  main().catch((err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.stdout.write(`${JSON.stringify({ error: String(err?.message ?? err) })}\n`, () =>
      process.exit(1),
    );
  });
}
