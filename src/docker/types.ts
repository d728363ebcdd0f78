/**
 * Types for the parts of the Docker Engine API that clinical uses (API ≥ 1.41).
 * Only the fields we read are typed; the rest of a spec is carried through untouched (`[key: string]: unknown`),
 * because a saved service spec must be sent back whole.
 */

/** `UpdateStatus.State`: six values, not the three the swagger lists (DESIGN.md §4). */
export const UPDATE_STATES = [
  'updating',
  'paused',
  'completed',
  'rollback_started',
  'rollback_paused',
  'rollback_completed',
] as const
export type UpdateState = (typeof UPDATE_STATES)[number]

/** Task states, in lifecycle order (swarmkit api/types.proto). */
export const TASK_STATES = [
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const
export type TaskState = (typeof TASK_STATES)[number]

/** States a task never leaves. */
export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set([
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
])

export interface ObjectVersion {
  Index: number
}

export interface Labels {
  [key: string]: string
}

export interface ContainerSpec {
  Image?: string
  Labels?: Labels
  Command?: string[]
  Args?: string[]
  Env?: string[]
  Secrets?: Array<{SecretID: string; SecretName: string; [key: string]: unknown}>
  Configs?: Array<{ConfigID: string; ConfigName: string; [key: string]: unknown}>
  Mounts?: Array<{Type?: string; Source?: string; Target?: string; [key: string]: unknown}>
  [key: string]: unknown
}

export interface TaskTemplate {
  ContainerSpec?: ContainerSpec
  ForceUpdate?: number
  Networks?: Array<{Target: string; Aliases?: string[]; [key: string]: unknown}>
  [key: string]: unknown
}

export interface UpdateConfig {
  Parallelism?: number
  Delay?: number
  FailureAction?: 'continue' | 'pause' | 'rollback'
  Monitor?: number
  MaxFailureRatio?: number
  Order?: 'stop-first' | 'start-first'
}

export interface ServiceMode {
  Replicated?: {Replicas?: number}
  Global?: Record<string, never>
  ReplicatedJob?: {MaxConcurrent?: number; TotalCompletions?: number}
  GlobalJob?: Record<string, never>
}

export interface ServiceSpec {
  Name: string
  Labels?: Labels
  TaskTemplate: TaskTemplate
  Mode?: ServiceMode
  UpdateConfig?: UpdateConfig
  RollbackConfig?: UpdateConfig
  EndpointSpec?: {Mode?: string; Ports?: unknown[]}
  [key: string]: unknown
}

export interface UpdateStatus {
  State?: UpdateState
  StartedAt?: string
  CompletedAt?: string
  Message?: string
}

export interface Service {
  ID: string
  Version: ObjectVersion
  CreatedAt: string
  UpdatedAt: string
  Spec: ServiceSpec
  PreviousSpec?: ServiceSpec
  UpdateStatus?: UpdateStatus
  /** Present when listed with `status=true` (API ≥ 1.41). */
  ServiceStatus?: {RunningTasks: number; DesiredTasks: number; CompletedTasks: number}
}

export interface TaskStatus {
  Timestamp: string
  State: TaskState
  Message?: string
  Err?: string
  ContainerStatus?: {ContainerID?: string; PID?: number; ExitCode?: number}
}

export interface Task {
  ID: string
  Version: ObjectVersion
  CreatedAt: string
  UpdatedAt: string
  ServiceID: string
  Slot?: number
  NodeID?: string
  Spec: TaskTemplate
  Status: TaskStatus
  DesiredState: TaskState
}

export interface SwarmInfo {
  NodeID: string
  NodeAddr: string
  LocalNodeState: 'inactive' | 'pending' | 'active' | 'error' | 'locked'
  ControlAvailable: boolean
  Error: string
  Nodes?: number
  Managers?: number
}

export interface SystemInfo {
  ID: string
  Name: string
  ServerVersion: string
  DockerRootDir: string
  Swarm: SwarmInfo
}

export interface VersionInfo {
  Version: string
  ApiVersion: string
  MinAPIVersion: string
  Os: string
  Arch: string
}

/** One message of `GET /events`. */
export interface DockerEvent {
  Type: string
  Action: string
  Actor: {ID: string; Attributes?: Record<string, string>}
  scope?: 'local' | 'swarm'
  time: number
  timeNano: number
}

export interface SwarmConfig {
  ID: string
  Version: ObjectVersion
  CreatedAt: string
  UpdatedAt: string
  Spec: {Name: string; Labels?: Labels; Data?: string}
}

/** A swarm secret as listed: the API never returns its value. */
export interface SwarmSecret {
  ID: string
  Version: ObjectVersion
  CreatedAt: string
  UpdatedAt: string
  Spec: {Name: string; Labels?: Labels}
}

export interface Volume {
  Name: string
  Driver: string
  Mountpoint: string
  Labels: Labels | null
  Scope: 'local' | 'global'
  /** Driver options (`docker volume create -o`). */
  Options?: Labels | null
  UsageData?: {Size: number; RefCount: number} | null
}

/** One container of `GET /containers/json`. */
export interface ContainerSummary {
  Id: string
  Names: string[]
  Image: string
  /** created, running, paused, restarting, removing, exited, dead */
  State: string
  Status: string
  Labels: Labels | null
}

export interface SystemDf {
  Volumes?: Volume[] | null
}

/** Filters of list endpoints, sent as JSON: `{"label": ["a=b"]}`. */
export type Filters = Record<string, string[]>
