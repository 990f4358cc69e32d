import type { StandardSchemaV1 } from "@standard-schema/spec";
import { OptionsError, ValidationError, type ValidationIssue } from "../errors.js";

function pathOf(issue: StandardSchemaV1.Issue): string {
  if (!issue.path || issue.path.length === 0) return "";
  return issue.path
    .map((seg) => (typeof seg === "object" && seg !== null && "key" in seg ? seg.key : seg))
    .map(String)
    .join(".");
}

/**
 * Runs any Standard Schema validator (zod, valibot, arktype...) and returns its output, or throws a
 * ValidationError naming each bad field.
 */
export async function validateData<S extends StandardSchemaV1>(
  jobName: string,
  schema: S,
  data: unknown,
): Promise<StandardSchemaV1.InferOutput<S>> {
  let result = schema["~standard"].validate(data);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    const issues: ValidationIssue[] = result.issues.map((i) => ({ message: i.message, path: pathOf(i) }));
    throw new ValidationError(jobName, issues);
  }
  return result.value as StandardSchemaV1.InferOutput<S>;
}

/**
 * {@link validateData} for synchronous validators only (transactional enqueue runs inside a synchronous
 * SQLite transaction). Throws OptionsError when the schema validates asynchronously.
 */
export function validateDataSync<S extends StandardSchemaV1>(
  jobName: string,
  schema: S,
  data: unknown,
): StandardSchemaV1.InferOutput<S> {
  const result = schema["~standard"].validate(data);
  if (result instanceof Promise) {
    result.catch(() => {}); // nobody awaits it: keep a rejection from being unhandled
    throw new OptionsError(
      `the schema of job "${jobName}" validates asynchronously, which cannot run inside a synchronous SQLite ` +
        "transaction: use a synchronous schema, or validate first and enqueue with a definition without schema",
    );
  }
  if (result.issues) {
    const issues: ValidationIssue[] = result.issues.map((i) => ({ message: i.message, path: pathOf(i) }));
    throw new ValidationError(jobName, issues);
  }
  return result.value as StandardSchemaV1.InferOutput<S>;
}
