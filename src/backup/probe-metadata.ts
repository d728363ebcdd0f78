import {urlPasswords, urlPasswordsIn, withoutUrlPassword} from '../secrets/url-secrets.js'
import type {ProbeSettings} from './types.js'

/**
 * The secret values inside probe settings: the password of each URL, as written and decoded (pure). Whoever
 * resolves probe settings adds them to the run's redactor, since probe messages name their URL.
 */
export function probePasswords(probes: ProbeSettings): string[] {
  return urlPasswordsIn([probes.healthUrls, probes.appProbeUrl])
}

/**
 * Probe settings as they may be written into a backup's manifest: a password in a URL (`https://user:pw@host`)
 * is a secret and never goes into metadata, so it is replaced with `***` (pure).
 */
export function probesForManifest(probes: ProbeSettings): {probes: ProbeSettings; removedCredentials: boolean} {
  let removedCredentials = false
  const clean = (url: string): string => {
    const safe = withoutUrlPassword(url)
    if (safe !== url || urlPasswords(url).length > 0) removedCredentials = true
    return safe
  }
  const result: ProbeSettings = {healthUrls: probes.healthUrls.map(clean), appProbe: probes.appProbe}
  if (probes.appProbeUrl !== undefined) result.appProbeUrl = clean(probes.appProbeUrl)
  return {probes: result, removedCredentials}
}
