/**
 * Files dropped on the page, folders included. Nothing is filtered here: the importer judges
 * each file by its content, not by its name.
 */

// Numeric so "2 - b.mp3" comes before "10 - a.mp3": a folder imports in album order.
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })

/** Take the drop's entries now (the browser empties the list once the event returns), then walk them. */
export function filesFromDrop(data: DataTransfer): Promise<File[]> {
  const entries: FileSystemEntry[] = []
  const loose: File[] = []
  for (const item of data.items) {
    if (item.kind !== 'file') continue
    // webkitGetAsEntry is missing from some embedded engines: fall back to the plain file.
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null
    if (entry) entries.push(entry)
    else {
      const file = item.getAsFile()
      if (file) loose.push(file)
    }
  }
  if (entries.length === 0 && loose.length === 0) return Promise.resolve([...data.files])
  return filesFromEntries(entries).then((walked) => [...loose, ...walked])
}

/** The files under these entries, depth first, each folder in name order. Unreadable files are skipped. */
export async function filesFromEntries(entries: readonly FileSystemEntry[]): Promise<File[]> {
  const files: File[] = []
  const sorted = [...entries].sort((a, b) => collator.compare(a.name, b.name))
  for (const entry of sorted) {
    if (isFile(entry)) {
      const file = await fileOf(entry).catch(() => undefined)
      if (file) files.push(file)
    } else if (isDirectory(entry)) {
      files.push(...(await filesFromEntries(await readAll(entry))))
    }
  }
  return files
}

const isFile = (entry: FileSystemEntry): entry is FileSystemFileEntry => entry.isFile
const isDirectory = (entry: FileSystemEntry): entry is FileSystemDirectoryEntry => entry.isDirectory

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject))
}

/** A folder's children: readEntries yields batches (100 at a time in Chromium) until an empty one; a folder that cannot be read ends early. */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader()
  const all: FileSystemEntry[] = []
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    ).catch(() => [])
    if (batch.length === 0) return all
    all.push(...batch)
  }
}
