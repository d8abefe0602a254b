// Globals the web UI sets on `window` (type declarations for `tsc --checkJs`; nothing is emitted).
interface Window {
  /** The hash of the last non-dialog view, to return to when a pin dialog closes. */
  lastViewHash?: string;
}
