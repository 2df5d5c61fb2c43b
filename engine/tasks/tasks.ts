import type { PrismaClient, Task } from '@prisma/client';
import type { TaskAssignee } from '../../core/index.js';
import { isUniqueViolation, newId } from '../../store/index.js';
import type { EngineDeps } from '../deps.js';
import { recordSystemEvent } from '../messaging/system-event.js';
import { chooseAssignee, teamId } from './assign.js';

export type TaskPriority = 'low' | 'normal' | 'high' | 'urgent';

export interface NewTask {
  readonly workspaceId: string;
  /** (enrollment:step:iteration) for journey tasks: the same key never makes a second task. */
  readonly key: string | null;
  readonly title: string;
  readonly description: string | null;
  readonly contactId: string | null;
  readonly assignee: TaskAssignee | null;
  /** The contact's owner (user id or email), for the `owner` strategy. */
  readonly ownerRef: string | null;
  readonly dueAt: Date | null;
  readonly priority: TaskPriority;
  readonly enrollmentId: string | null;
  readonly stepId: string | null;
}

/** Creates a task and assigns it in one transaction; with a key, a repeat returns the first. */
export async function createTask(
  prisma: PrismaClient,
  task: NewTask,
): Promise<{ task: Task; created: boolean }> {
  if (task.key) {
    const existing = await prisma.task.findUnique({ where: { key: task.key } });
    if (existing) return { task: existing, created: false };
  }
  try {
    const created = await prisma.$transaction(async (tx) => {
      const assigneeId = task.assignee
        ? await chooseAssignee(tx, task.workspaceId, task.assignee, task.ownerRef)
        : null;
      const teamRef =
        task.assignee && task.assignee.type !== 'user' && task.assignee.type !== 'owner'
          ? task.assignee.team
          : null;
      // By key or id, as assignment resolves it.
      const team = teamRef ? await teamId(tx, task.workspaceId, teamRef) : null;
      return tx.task.create({
        data: {
          id: newId(),
          workspaceId: task.workspaceId,
          key: task.key,
          title: task.title,
          description: task.description,
          contactId: task.contactId,
          assigneeId,
          teamId: team,
          enrollmentId: task.enrollmentId,
          stepId: task.stepId,
          priority: task.priority,
          status: 'open',
          dueAt: task.dueAt,
        },
      });
    });
    return { task: created, created: true };
  } catch (error) {
    if (task.key && isUniqueViolation(error)) {
      const existing = await prisma.task.findUnique({ where: { key: task.key } });
      if (existing) return { task: existing, created: false };
    }
    throw error;
  }
}

/**
 * Marks a task done and records `task_completed` for its contact, routed like any other
 * event so a journey waiting for it moves on. Completing it again changes nothing and the
 * event's message id (`task_completed:<task id>`) keeps it from being stored twice.
 */
export async function completeTask(
  deps: EngineDeps,
  workspaceId: string,
  taskId: string,
  by: string | null,
): Promise<Task | null> {
  const task = await deps.prisma.task.findFirst({ where: { id: taskId, workspaceId } });
  if (!task) return null;
  const done =
    task.status === 'done'
      ? task
      : await deps.prisma.task.update({
          where: { id: task.id },
          data: { status: 'done', completedAt: new Date() },
        });
  if (done.contactId) await recordCompletion(deps, done, by);
  return done;
}

async function recordCompletion(deps: EngineDeps, task: Task, by: string | null): Promise<void> {
  if (!task.contactId) return;
  await recordSystemEvent(deps, {
    workspaceId: task.workspaceId,
    contactId: task.contactId,
    name: 'task_completed',
    messageId: `task_completed:${task.id}`,
    properties: {
      taskId: task.id,
      title: task.title,
      assigneeId: task.assigneeId,
      completedBy: by,
      enrollmentId: task.enrollmentId,
      stepId: task.stepId,
    },
    timestamp: task.completedAt ?? new Date(),
  });
}
