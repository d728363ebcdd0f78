import {createHash} from 'node:crypto'
import {chmod, mkdir, readFile, readdir, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {list} from 'tar'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {configReadError, writeBackup} from '../../../src/backup/write-backup.js'
import {ClinicalError, RefusedError} from '../../../src/errors.js'
import {ExitCode} from '../../../src/exit-codes.js'
import {Redactor} from '../../../src/secrets/redact.js'
import {PROBES, fakeService, tempDir} from './fixtures.js'

const NOW = new Date('2024-05-06T07:08:09.123Z')

let root: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({dir: root, cleanup} = await tempDir())
})
afterEach(async () => {
  await cleanup()
})

async function configDirWithFiles(): Promise<string> {
  const dir = join(root, 'config')
  await mkdir(join(dir, 'nginx'), {recursive: true})
  await writeFile(join(dir, 'app.yml'), 'replicas: 2\n')
  await writeFile(join(dir, 'nginx', 'site.conf'), 'server {}\n')
  return dir
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function modeOf(info: {mode: number}): number {
  return info.mode & 0o777
}

describe('writeBackup', () => {
  it('writes each service as services/<name>.json and a manifest whose sizes and sha256s match the files', async () => {
    const backupDir = join(root, 'backups')
    const services = [fakeService('shop_web', 'img:v2', 42), fakeService('shop_db')]
    const backup = await writeBackup({
      stack: 'shop',
      backupDir,
      configDir: await configDirWithFiles(),
      configDirRequired: true,
      appVersion: '1.2.3',
      probes: PROBES,
      now: NOW,
      services,
      volumeNotes: ['volumes were not backed up (--no-backup-volumes)'],
      env: {GITHUB_SERVER_URL: 'https://github.example', GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '99'},
    })

    expect(backup.id).toBe('20240506-070809')
    expect(backup.dir).toBe(join(backupDir, 'shop', '20240506-070809'))
    expect((await readdir(backup.dir)).sort()).toEqual(['config.tar.gz', 'manifest.json', 'services'])
    expect((await readdir(join(backup.dir, 'services'))).sort()).toEqual(['shop_db.json', 'shop_web.json'])

    const web = JSON.parse(await readFile(join(backup.dir, 'services', 'shop_web.json'), 'utf8'))
    expect(web).toEqual({
      id: 'id-shop_web',
      name: 'shop_web',
      version: 42,
      createdAt: services[0]!.CreatedAt,
      updatedAt: services[0]!.UpdatedAt,
      spec: services[0]!.Spec,
    })
    expect(backup.services.map((snapshot) => snapshot.name)).toEqual(['shop_db', 'shop_web'])

    const manifestText = await readFile(join(backup.dir, 'manifest.json'), 'utf8')
    const manifest = JSON.parse(manifestText)
    expect(manifest).toEqual(backup.manifest)
    expect(manifest).toMatchObject({
      formatVersion: 1,
      stack: 'shop',
      id: '20240506-070809',
      createdAt: '2024-05-06T07:08:09.123Z',
      appVersion: '1.2.3',
      services: ['shop_db', 'shop_web'],
      volumes: [],
      probes: PROBES,
      who: {ciRunUrl: 'https://github.example/acme/shop/actions/runs/99'},
    })
    expect(typeof manifest.who.user).toBe('string')
    expect(typeof manifest.who.host).toBe('string')
    expect(manifest.notes).toContain('volumes were not backed up (--no-backup-volumes)')
    expect(manifest.files.map((file: {path: string}) => file.path)).toEqual(['config.tar.gz', 'services/shop_db.json', 'services/shop_web.json'])
    for (const file of manifest.files) {
      const bytes = await readFile(join(backup.dir, file.path))
      expect(file.size).toBe(bytes.length)
      expect(file.sha256).toBe(sha256(bytes))
    }
  })

  it('keeps env values in the 0600 spec files (needed to restore) but never in the manifest', async () => {
    const backup = await writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: [fakeService('shop_web')]})
    expect(await readFile(join(backup.dir, 'services', 'shop_web.json'), 'utf8')).toContain('hunter2-secret')
    const manifestText = await readFile(join(backup.dir, 'manifest.json'), 'utf8')
    expect(manifestText).not.toContain('hunter2-secret')
    expect(manifestText).not.toContain('MODE=prod')
  })

  it('archives the config dir as a portable config.tar.gz with relative paths', async () => {
    const backup = await writeBackup({
      stack: 'shop',
      backupDir: join(root, 'backups'),
      configDir: await configDirWithFiles(),
      configDirRequired: false,
      probes: PROBES,
      now: NOW,
      services: [],
    })
    const entries: Array<{path: string; uname?: string; uid?: number}> = []
    await list({file: join(backup.dir, 'config.tar.gz'), onReadEntry: (entry) => entries.push({path: entry.path, uname: entry.header.uname, uid: entry.header.uid})})
    expect(entries.map((entry) => entry.path).sort()).toEqual(['./', 'app.yml', 'nginx/', 'nginx/site.conf'].map((p) => (p === './' ? p : `./${p}`)).sort())
    for (const entry of entries) expect(entry.uname ?? '').toBe('')
  })

  it('leaves the backup being written out of the config archive when the backup dir is inside the config dir', async () => {
    const configDir = await configDirWithFiles()
    const backup = await writeBackup({stack: 'shop', backupDir: join(configDir, 'backups'), configDir, configDirRequired: true, probes: PROBES, now: NOW, services: [fakeService('shop_web')]})
    const paths: string[] = []
    await list({file: join(backup.dir, 'config.tar.gz'), onReadEntry: (entry) => paths.push(entry.path)})
    expect(paths).toContain('./app.yml')
    expect(paths.filter((path) => path.includes('backups/shop'))).toEqual([])
  })

  it('sets directories 0700 and files 0600 whatever the umask', async () => {
    const previous = process.umask(0)
    try {
      const backupDir = join(root, 'fresh', 'backups')
      const backup = await writeBackup({
        stack: 'shop',
        backupDir,
        configDir: await configDirWithFiles(),
        configDirRequired: true,
        probes: PROBES,
        now: NOW,
        services: [fakeService('shop_web')],
      })
      for (const dir of [join(root, 'fresh'), backupDir, join(backupDir, 'shop'), backup.dir, join(backup.dir, 'services')]) {
        expect({dir, mode: modeOf(await stat(dir))}).toEqual({dir, mode: 0o700})
      }
      for (const file of ['manifest.json', 'config.tar.gz', 'services/shop_web.json']) {
        expect({file, mode: modeOf(await stat(join(backup.dir, file)))}).toEqual({file, mode: 0o600})
      }
    } finally {
      process.umask(previous)
    }
  })

  it('does not change the mode of a backup dir that already exists (it may be shared)', async () => {
    const backupDir = join(root, 'shared')
    await mkdir(backupDir)
    await chmod(backupDir, 0o755)
    await writeBackup({stack: 'shop', backupDir, configDirRequired: false, probes: PROBES, now: NOW, services: []})
    expect(modeOf(await stat(backupDir))).toBe(0o755)
    expect(modeOf(await stat(join(backupDir, 'shop')))).toBe(0o700)
  })

  it('backs up a stack with no services (first deploy): services is empty', async () => {
    const backup = await writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: []})
    expect(backup.services).toEqual([])
    expect(backup.manifest.services).toEqual([])
    expect(backup.manifest.files).toEqual([])
    expect(await readdir(join(backup.dir, 'services'))).toEqual([])
  })

  it('gives a second backup in the same second the next second as id, and skips ids of partial backups', async () => {
    const first = await writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: []})
    await mkdir(join(root, 'shop', '20240506-070810.partial'))
    const second = await writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: []})
    expect(first.id).toBe('20240506-070809')
    expect(second.id).toBe('20240506-070811')
    expect(second.manifest.createdAt).toBe(NOW.toISOString())
  })

  it('refuses a missing config dir given explicitly, and writes nothing', async () => {
    const missing = join(root, 'no-such-config')
    const attempt = writeBackup({stack: 'shop', backupDir: join(root, 'b'), configDir: missing, configDirRequired: true, probes: PROBES, now: NOW, services: []})
    await expect(attempt).rejects.toBeInstanceOf(RefusedError)
    await expect(attempt).rejects.toThrow(`config dir ${missing} not found`)
    await expect(stat(join(root, 'b'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('notes a missing default config dir in the manifest and backs up the rest', async () => {
    const missing = join(root, 'no-such-config')
    const backup = await writeBackup({stack: 'shop', backupDir: root, configDir: missing, configDirRequired: false, probes: PROBES, now: NOW, services: [fakeService('shop_web')]})
    expect(backup.manifest.notes).toContain(`config dir ${missing} not found: the backup holds no config.tar.gz`)
    expect(backup.manifest.files.map((file) => file.path)).toEqual(['services/shop_web.json'])
  })

  it('notes that no config dir was given', async () => {
    const backup = await writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: []})
    expect(backup.manifest.notes[0]).toBe('no config dir was given: the backup holds no config.tar.gz')
  })

  it('replaces a password in a probe URL and redacts known secrets in the metadata', async () => {
    const backup = await writeBackup({
      stack: 'shop',
      backupDir: root,
      configDirRequired: false,
      probes: {healthUrls: ['https://ops:s3cret-pw@127.0.0.1:8443/health'], appProbeUrl: 'http://127.0.0.1:1/app', appProbe: 'fail'},
      appVersion: 'v1-tok-abcdef',
      redactor: new Redactor(['tok-abcdef']),
      now: NOW,
      services: [],
    })
    const text = await readFile(join(backup.dir, 'manifest.json'), 'utf8')
    expect(text).not.toContain('s3cret-pw')
    expect(text).not.toContain('tok-abcdef')
    expect(backup.manifest.probes).toEqual({healthUrls: ['https://ops:***@127.0.0.1:8443/health'], appProbeUrl: 'http://127.0.0.1:1/app', appProbe: 'fail'})
    expect(backup.manifest.appVersion).toBe('v1-***')
  })

  it('names the path at fault when the backup dir cannot be created', async () => {
    const blocker = join(root, 'a-file')
    await writeFile(blocker, 'x')
    const attempt = writeBackup({stack: 'shop', backupDir: blocker, configDirRequired: false, probes: PROBES, now: NOW, services: []})
    await expect(attempt).rejects.toBeInstanceOf(ClinicalError)
    await expect(attempt).rejects.toMatchObject({exitCode: ExitCode.Refused})
    await expect(attempt).rejects.toThrow(`cannot write backup to ${join(blocker, 'shop')}`)
  })

  it('removes the partial dir and names the file when writing fails half-way (fault injected: an unserializable spec)', async () => {
    const broken = fakeService('shop_zz')
    broken.Spec.Broken = 1n // JSON.stringify throws on a BigInt, after shop_web.json was written
    const attempt = writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: [fakeService('shop_web'), broken]})
    await expect(attempt).rejects.toThrow(`cannot write backup to ${join(root, 'shop', '20240506-070809.partial', 'services', 'shop_zz.json')}`)
    expect(await readdir(join(root, 'shop'))).toEqual([])
  })

  it('rethrows an abort as it is and leaves no partial dir', async () => {
    const controller = new AbortController()
    controller.abort(new Error('interrupted by SIGINT'))
    await expect(
      writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: [], signal: controller.signal}),
    ).rejects.toThrow('interrupted by SIGINT')
    await expect(readdir(join(root, 'shop'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('refuses service names that could leave the services dir', async () => {
    const attempt = writeBackup({stack: 'shop', backupDir: root, configDirRequired: false, probes: PROBES, now: NOW, services: [fakeService('../evil')]})
    await expect(attempt).rejects.toBeInstanceOf(RefusedError)
  })
})

describe('configReadError (fault injected: an errno error built by hand; tests run as root, who reads everything)', () => {
  const eacces = (path: string) => Object.assign(new Error(`EACCES: permission denied, open '${path}'`), {code: 'EACCES', path})

  it('blames the config dir for a file in it that cannot be read', () => {
    const error = configReadError(eacces('/etc/app/key.pem'), '/etc/app', '/opt/backups/shop')
    expect(error).toBeInstanceOf(RefusedError)
    expect(error?.message).toBe(
      "cannot archive config dir /etc/app: EACCES: permission denied, open '/etc/app/key.pem'; make it readable by this user or choose another --config-dir",
    )
  })

  it('leaves errors in the backup dir (even inside the config dir) and without a path to the write error', () => {
    expect(configReadError(eacces('/etc/app/backups/shop/x.partial/config.tar.gz'), '/etc/app', '/etc/app/backups/shop')).toBeUndefined()
    expect(configReadError(eacces('/opt/backups/shop'), '/etc/app', '/opt/backups/shop')).toBeUndefined()
    expect(configReadError(new Error('no path'), '/etc/app', '/opt/backups/shop')).toBeUndefined()
    expect(configReadError(eacces('/etc/app/x'), undefined, '/opt/backups/shop')).toBeUndefined()
  })
})
