import type {ProbeSettings} from './types.js'

/**
 * Probe settings as they may be written into a backup's manifest: a password in a URL (`https://user:pw@host`)
 * is a secret and never goes into metadata, so it is replaced with `***` (pure).
 */
export function probesForManifest(probes: ProbeSettings): {probes: ProbeSettings; removedCredentials: boolean} {
  let removedCredentials = false
  const clean = (url: string): string => {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return url
    }
    if (!parsed.password) return url
    removedCredentials = true
    parsed.password = '***'
    return parsed.toString()
  }
  const result: ProbeSettings = {healthUrls: probes.healthUrls.map(clean), appProbe: probes.appProbe}
  if (probes.appProbeUrl !== undefined) result.appProbeUrl = clean(probes.appProbeUrl)
  return {probes: result, removedCredentials}
}
