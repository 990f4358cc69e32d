/** The no-op every executor and peer pool runs in the executor benchmark. */
export default function noop() {
  return null;
}
