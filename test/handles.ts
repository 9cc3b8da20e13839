/** Open handles (sockets, timers, servers) of this process: for leak checks over many runs. */
export function openHandles(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}
