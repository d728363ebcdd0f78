/**
 * Volume backup benchmark (DESIGN.md §6: ≥ 80 % of `tar -c | gzip -1`, memory flat in the data size; the backups
 * issue asks ≥ 0.9×). Not a test: run it on the local swarm, as root (it fills volumes through their Mountpoint).
 *
 *   npm run bench:backup                       1 GiB of mixed data, RSS also at 1/4 of it
 *   npm run bench:backup -- --size 256MB --runs 1
 *   options: --size S (default 1GB), --runs N (default 3), --levels 1,6 (gzip levels of clinical; the first is
 *            the one compared), --keep (do not remove the volumes)
 *
 * In one run, on the same data, page cache warm for both: clinical's archiveVolume (a never-started helper,
 * GET /containers/{id}/archive, gzip + sha256 on the fly, fsync) in a fresh child process that reports its peak
 * RSS (VmHWM), against `tar -c -C <Mountpoint> . | gzip -1 > file` plus an fsync of the file (clinical fsyncs its
 * archives, so the baseline pays for durability too). Medians of the runs, alternating the two.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {randomBytes, randomFillSync} from 'node:crypto'
import {closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, writeSync} from 'node:fs'
import {mkdtemp, readFile, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import bytes from 'bytes'
import {GZIP_CONCURRENCY} from '../src/backup/parallel-gzip.js'
import {archiveVolume} from '../src/backup/volume-archive.js'
import {DockerClient} from '../src/docker/client.js'

const MiB = 1024 * 1024

interface ChildResult {
  ms: number
  tarBytes: number
  size: number
  entries: number
  vmHwmBytes: number
  rssBeforeBytes: number
  rssMaxSampledBytes: number
}

/** In a fresh process: archive one volume with clinical's code; print timings and memory as JSON. */
async function childArchive(volume: string, file: string, level: number, concurrency: number): Promise<void> {
  // stopped by the parent (or Ctrl-C): abort, so that the helper container and the partial file are removed
  const controller = new AbortController()
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => controller.abort(new Error(`stopped by ${name}`)))
  const docker = new DockerClient()
  const rssBeforeBytes = process.memoryUsage.rss()
  let rssMaxSampledBytes = rssBeforeBytes
  const sampler = setInterval(() => (rssMaxSampledBytes = Math.max(rssMaxSampledBytes, process.memoryUsage.rss())), 20)
  const started = performance.now()
  const archive = await archiveVolume(docker, {volume, file, gzipLevel: level, gzipConcurrency: concurrency, signal: controller.signal})
  const ms = performance.now() - started
  clearInterval(sampler)
  await docker.close()
  const result: ChildResult = {
    ms,
    tarBytes: archive.tarBytes,
    size: archive.size,
    entries: archive.entries,
    vmHwmBytes: await vmHwmBytes(),
    rssBeforeBytes,
    rssMaxSampledBytes,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

async function vmHwmBytes(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8')
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)
  return match ? Number(match[1]) * 1024 : Number.NaN
}

function parseSize(text: string): number {
  const value = bytes.parse(text.replace(/ib$/i, 'b'))
  if (value === null || !Number.isFinite(value) || value < MiB) throw new Error(`--size ${text}: give a size of at least 1MB, e.g. 256MB or 1GB`)
  return value
}

async function main(): Promise<void> {
  const {values} = parseArgs({
    options: {
      size: {type: 'string', default: '1GB'},
      runs: {type: 'string', default: '3'},
      levels: {type: 'string', default: '1,6'},
      concurrency: {type: 'string', default: String(GZIP_CONCURRENCY)},
      keep: {type: 'boolean', default: false},
    },
  })
  const largeBytes = parseSize(values.size)
  const smallBytes = Math.max(MiB, Math.floor(largeBytes / 4))
  const runs = Number(values.runs)
  const levels = values.levels.split(',').map(Number)
  const concurrency = Number(values.concurrency)
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number ≥ 1')
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('--concurrency must be a whole number ≥ 1')
  if (levels.length === 0 || levels.some((level) => !Number.isInteger(level) || level < 0 || level > 9)) throw new Error('--levels: gzip levels 0-9')

  const docker = new DockerClient()
  const suffix = randomBytes(3).toString('hex')
  const volumes = {small: `clinical-bench-${suffix}-small`, large: `clinical-bench-${suffix}-large`}
  const work = await mkdtemp(join(tmpdir(), 'clinical-bench-backup-'))
  const cleanup = async (): Promise<void> => {
    if (!values.keep) {
      for (const name of Object.values(volumes)) await docker.removeVolume(name, {force: true}).catch(() => undefined)
    }
    await rm(work, {recursive: true, force: true})
  }
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(name, () => {
      console.error(`bench-backup: ${name}: removing the benchmark volumes`)
      currentChild?.kill('SIGTERM')
      // the child removes its helper container before it exits; then the volumes can go
      const childGone = currentChild ? new Promise((resolve) => currentChild!.once('exit', resolve)) : Promise.resolve()
      void Promise.race([childGone, new Promise((resolve) => setTimeout(resolve, 10_000))])
        .then(cleanup)
        .finally(() => process.exit(130))
    })
  }
  try {
    const mountpoints: Record<'small' | 'large', string> = {small: '', large: ''}
    for (const [key, size] of [
      ['small', smallBytes],
      ['large', largeBytes],
    ] as const) {
      const volume = await docker.createVolume({Name: volumes[key], Labels: {'io.clinical.bench': 'true'}})
      mountpoints[key] = volume.Mountpoint
      const started = performance.now()
      const made = fillMixedData(volume.Mountpoint, size)
      console.log(`data: volume ${volumes[key]}: ${fmtMiB(made.bytes)} MiB in ${made.files} files (random ${fmtMiB(made.randomBytes)} MiB, text ${fmtMiB(made.textBytes)} MiB), written in ${seconds(performance.now() - started)}`)
      await run(['tar', '-c', '-C', volume.Mountpoint, '.'], '/dev/null') // page cache warm for both contenders
    }

    const compare = async (key: 'small' | 'large', level: number, count: number) => {
      const baseline: number[] = []
      const clinical: ChildResult[] = []
      let baselineSize = 0
      for (let index = 1; index <= count; index++) {
        const out = join(work, `baseline-${key}.tar.gz`)
        const startedMs = performance.now()
        await tarGzip(mountpoints[key], out)
        baseline.push(performance.now() - startedMs)
        baselineSize = (await stat(out)).size
        await rm(out)
        const child = await childRun(volumes[key], join(work, `clinical-${key}.tar.gz`), level, concurrency)
        clinical.push(child)
        await rm(join(work, `clinical-${key}.tar.gz`))
        console.log(
          `run ${index}/${count} (${fmtMiB(child.tarBytes)} MiB): tar|gzip -1 ${seconds(baseline.at(-1)!)}, clinical level ${level} ${seconds(child.ms)}, clinical peak RSS ${fmtMiB(child.vmHwmBytes)} MiB`,
        )
      }
      return {baselineMs: median(baseline), baselineSize, clinical: medianBy(clinical, (result) => result.ms), peakRss: Math.max(...clinical.map((result) => result.vmHwmBytes))}
    }

    const [level, ...otherLevels] = levels as [number, ...number[]]
    console.log(`\n${fmtMiB(smallBytes)} MiB volume, ${runs} run(s):`)
    const small = await compare('small', level, runs)
    console.log(`\n${fmtMiB(largeBytes)} MiB volume, ${runs} run(s):`)
    const large = await compare('large', level, runs)
    // variants, for information (on the small volume, one run each): other levels, and one gzip thread
    const others: string[] = []
    const variants = [...otherLevels.map((other) => ({level: other, concurrency})), ...(concurrency > 1 ? [{level, concurrency: 1}] : [])]
    for (const variant of variants) {
      const file = join(work, `clinical-variant.tar.gz`)
      const result = await childRun(volumes.small, file, variant.level, variant.concurrency)
      others.push(
        `  variant: gzip level ${variant.level}, ${variant.concurrency} gzip thread(s), ${fmtMiB(smallBytes)} MiB volume: ${fmtMiB(result.tarBytes / (result.ms / 1000))} MiB/s, archive ${fmtMiB(result.size)} MiB (compared setting: ${fmtMiB(small.clinical.tarBytes / (small.clinical.ms / 1000))} MiB/s, ${fmtMiB(small.clinical.size)} MiB)`,
      )
      await rm(file)
    }

    const dataBytes = large.clinical.tarBytes
    const baselineRate = dataBytes / MiB / (large.baselineMs / 1000)
    const clinicalRate = dataBytes / MiB / (large.clinical.ms / 1000)
    console.log('')
    console.log(`tar -c | gzip -1 (+ fsync): ${baselineRate.toFixed(1)} MiB/s (${fmtMiB(dataBytes)} MiB of tar in ${seconds(large.baselineMs)}, archive ${fmtMiB(large.baselineSize)} MiB; median of ${runs})`)
    console.log(
      `clinical volume backup (gzip level ${level}, ${concurrency} gzip thread(s)): ${clinicalRate.toFixed(1)} MiB/s (${seconds(large.clinical.ms)}, archive ${fmtMiB(large.clinical.size)} MiB, ${large.clinical.entries} entries; median of ${runs})`,
    )
    for (const line of others) console.log(line)
    console.log(
      `peak RSS of the archiving process (VmHWM): ${fmtMiB(small.peakRss)} MiB for ${fmtMiB(small.clinical.tarBytes)} MiB of data, ${fmtMiB(large.peakRss)} MiB for ${fmtMiB(large.clinical.tarBytes)} MiB (node + tsx at start: ${fmtMiB(large.clinical.rssBeforeBytes)} MiB)`,
    )
    console.log(`ratio clinical / tar|gzip -1: ${((clinicalRate / baselineRate) * 100).toFixed(0)} % (target ≥ 90 %; DESIGN.md §6: ≥ 80 %)`)
  } finally {
    await cleanup()
    await docker.close()
  }
}

let currentChild: ChildProcess | undefined

/** Run the child archive process (argv, no shell); its peak RSS is its own. */
function childRun(volume: string, file: string, level: number, concurrency: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--child-archive', volume, file, String(level), String(concurrency)], {stdio: ['ignore', 'pipe', 'inherit']})
    currentChild = child
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`archive child exited ${code}`))
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult)
    })
  })
}

/** `tar -c -C dir . | gzip -1 > out`, two processes piped (argv arrays), then fsync of out. */
async function tarGzip(dir: string, out: string): Promise<void> {
  const fd = openSync(out, 'w', 0o600)
  try {
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-c', '-C', dir, '.'], {stdio: ['ignore', 'pipe', 'inherit']})
      const gzip = spawn('gzip', ['-1'], {stdio: [tar.stdout, fd, 'inherit']})
      let pending = 2
      const done = (name: string) => (code: number | null) => {
        if (code !== 0) reject(new Error(`${name} exited ${code}`))
        else if (--pending === 0) resolve()
      }
      tar.on('exit', done('tar'))
      gzip.on('exit', done('gzip'))
    })
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function run(argv: string[], stdoutFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(stdoutFile)
    out.on('open', () => {
      const child = spawn(argv[0]!, argv.slice(1), {stdio: ['ignore', out, 'inherit']})
      child.on('exit', (code) => {
        out.close()
        if (code === 0) resolve()
        else reject(new Error(`${argv[0]} exited ${code}`))
      })
    })
  })
}

/**
 * Mixed data: ~40 % random bytes (does not compress) in files of 64 KiB to 16 MiB, ~50 % text-like lines of a lab
 * log (compresses ~3×) in files of 128 KiB to 8 MiB, ~10 % small text files (4–64 KiB) in nested folders.
 */
function fillMixedData(root: string, totalBytes: number): {bytes: number; files: number; randomBytes: number; textBytes: number} {
  let written = 0
  let files = 0
  let randomTotal = 0
  let smallTotal = 0
  let textTotal = 0
  const rng = xorshift(0x9e3779b9)
  const randomSizes = [16 * MiB, 4 * MiB, 1 * MiB, 256 * 1024, 64 * 1024]
  const textSizes = [8 * MiB, 2 * MiB, 512 * 1024, 128 * 1024]
  mkdirSync(join(root, 'random'), {recursive: true})
  mkdirSync(join(root, 'text'), {recursive: true})
  while (written < totalBytes) {
    const left = totalBytes - written
    if (randomTotal <= 0.4 * written) {
      const size = Math.min(left, randomSizes[files % randomSizes.length]!)
      writeRandomFile(join(root, 'random', `blob-${files}.bin`), size)
      randomTotal += size
      written += size
      files++
    } else if (smallTotal <= 0.1 * written) {
      const dir = join(root, 'small', `d${files % 17}`, `e${files % 5}`)
      mkdirSync(dir, {recursive: true})
      for (let index = 0; index < 32 && written < totalBytes; index++) {
        const size = Math.min(totalBytes - written, 4096 + Math.floor(rng() * 60 * 1024))
        writeFileBytes(join(dir, `note-${files}.txt`), textBytes(size, rng))
        smallTotal += size
        written += size
        files++
      }
    } else {
      const size = Math.min(left, textSizes[files % textSizes.length]!)
      writeFileBytes(join(root, 'text', `log-${files}.csv`), textBytes(size, rng))
      textTotal += size
      written += size
      files++
    }
  }
  return {bytes: written, files, randomBytes: randomTotal, textBytes: textTotal + smallTotal}
}

function writeRandomFile(path: string, size: number): void {
  const fd = openSync(path, 'w')
  const chunk = Buffer.allocUnsafe(Math.min(size, 4 * MiB))
  for (let left = size; left > 0; left -= chunk.length) {
    randomFillSync(chunk)
    writeSync(fd, chunk, 0, Math.min(left, chunk.length))
  }
  closeSync(fd)
}

function writeFileBytes(path: string, data: Buffer): void {
  const fd = openSync(path, 'w')
  writeSync(fd, data)
  closeSync(fd)
}

const WORDS = ['glucose', 'hba1c', 'creatinine', 'ldl', 'hdl', 'ok', 'repeat', 'fasting', 'visit', 'baseline', 'followup', 'mmol/L', 'mg/dL', 'site-7', 'site-12', 'lab']

/** Lines like `2026-11-22T06:13:12.123Z,patient-48392,visit-3,glucose,5.83,mmol/L,ok` (a fast xorshift, no Math.random). */
function textBytes(size: number, rng: () => number): Buffer {
  const buffer = Buffer.allocUnsafe(size)
  let offset = 0
  while (offset < size) {
    const line = `2026-11-${10 + Math.floor(rng() * 20)}T0${Math.floor(rng() * 10)}:${10 + Math.floor(rng() * 50)}:${10 + Math.floor(rng() * 50)}.${Math.floor(rng() * 900) + 100}Z,patient-${Math.floor(rng() * 99999)},visit-${Math.floor(rng() * 12)},${WORDS[Math.floor(rng() * WORDS.length)]},${(rng() * 20).toFixed(2)},${WORDS[Math.floor(rng() * WORDS.length)]}\n`
    offset += buffer.write(line, offset, 'latin1')
  }
  return buffer
}

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 0x100000000
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

function medianBy<T>(values: T[], key: (value: T) => number): T {
  const sorted = [...values].sort((a, b) => key(a) - key(b))
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

function fmtMiB(value: number): string {
  return (value / MiB).toFixed(1)
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

// last, so that every constant above is initialised
if (process.argv[2] === '--child-archive') {
  await childArchive(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]))
} else {
  await main()
}
