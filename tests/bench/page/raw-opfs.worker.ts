/// <reference lib="webworker" />
// The ceiling for store writes: the same bytes through a bare OPFS sync access handle, in a worker,
// in the same 4 MiB steps as the content worker, with no hashing, no temporaries and no catalog.

const CHUNK = 4 * 1024 * 1024

type SyncHandle = {
  write(buffer: Uint8Array, options: { at: number }): number
  flush(): void
  close(): void
}

onmessage = async (event: MessageEvent<{ file: Blob }>) => {
  const root = await navigator.storage.getDirectory()
  const handle = await root.getFileHandle('raw-bench', { create: true })
  const sync = (await (
    handle as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }
  ).createSyncAccessHandle()) as SyncHandle
  const { file } = event.data
  const t0 = performance.now()
  for (let at = 0; at < file.size; at += CHUNK) {
    sync.write(new Uint8Array(await file.slice(at, at + CHUNK).arrayBuffer()), { at })
  }
  sync.flush()
  const writeMs = performance.now() - t0
  sync.close()
  await root.removeEntry('raw-bench')
  postMessage({ writeMs })
}
