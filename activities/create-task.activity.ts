import { ApplicationFailure } from '@temporalio/activity';
import type { Action } from '../core/index.js';
import { createTask } from '../engine/tasks/index.js';
import { renderText } from '../mail/index.js';
import { contactView } from '../engine/index.js';
import { ownerRefOf } from '../engine/contacts/owner.js';
import type { ActivityDeps } from './deps.js';
import { writeSideEffect } from './side-effects.js';
import { mergedContactOf } from './merged-contact.js';

export interface CreateTaskInput {
  readonly workspaceId: string;
  readonly enrollmentId: string;
  readonly contactId: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly action: Extract<Action, { type: 'createTask' }>;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
}

export interface CreateTaskResult {
  readonly taskId: string;
  readonly assigneeId: string | null;
}

/**
 * Creates one task for (enrollment, step, iteration) and emails its assignee. The task row's
 * unique key makes a retry find the first task; the notification has a stable Message-ID, so a
 * resend after a crash is dropped by the receiver as a duplicate. Safe to retry.
 */
export async function createTaskActivity(
  deps: ActivityDeps,
  input: CreateTaskInput,
): Promise<CreateTaskResult> {
  const key = `${input.enrollmentId}:${input.stepId}:${input.iteration}`;
  const contact = await deps.prisma.contact.findFirst({
    where: { id: input.contactId, workspaceId: input.workspaceId },
  });
  if (!contact) {
    const merged = await mergedContactOf(deps.sql, input.enrollmentId, input.contactId);
    if (merged) return createTaskActivity(deps, { ...input, contactId: merged });
    throw ApplicationFailure.nonRetryable(
      `Contact ${input.contactId} no longer exists.`,
      'CONTACT_NOT_FOUND',
    );
  }
  const data = { contact: contactView(contact), event: input.trigger };
  const { action } = input;
  const { task } = await createTask(deps.prisma, {
    workspaceId: input.workspaceId,
    key,
    title: renderText(action.title, data),
    description: action.description === null ? null : renderText(action.description, data),
    contactId: contact.id,
    assignee: action.assignee,
    ownerRef: ownerRefOf(contact),
    dueAt: action.dueInMs === null ? null : new Date(Date.now() + action.dueInMs),
    priority: action.priority,
    enrollmentId: input.enrollmentId,
    stepId: input.stepId,
  });
  const notified = await deps.prisma.sideEffect.findUnique({ where: { key } });
  if (task.assigneeId && notified?.status !== 'done') {
    await notifyAssignee(deps, task.assigneeId, {
      taskId: task.id,
      title: task.title,
      description: task.description,
      dueAt: task.dueAt,
      contact: contact.email ?? contact.userId ?? contact.id,
    });
  }
  const result = { taskId: task.id, assigneeId: task.assigneeId };
  await writeSideEffect(
    deps.sql,
    { key, enrollmentId: input.enrollmentId, stepId: input.stepId, kind: 'createTask' },
    'done',
    result,
  );
  return result;
}

async function notifyAssignee(
  deps: ActivityDeps,
  userId: string,
  task: {
    taskId: string;
    title: string;
    description: string | null;
    dueAt: Date | null;
    contact: string;
  },
): Promise<void> {
  const user = await deps.prisma.user.findUnique({ where: { id: userId } });
  if (!user) return;
  const url = `${deps.config.publicUrl.replace(/\/+$/, '')}/v1/tasks/${task.taskId}`;
  const due = task.dueAt ? `Due: ${task.dueAt.toISOString()}\n` : '';
  const text = `Hi ${user.name},\n\nYou have a new task: ${task.title}\nContact: ${task.contact}\n${due}${task.description ? `\n${task.description}\n` : ''}\nOpen it: ${url}\n`;
  await deps.mailer.send({
    from: deps.config.mailFrom,
    to: user.email,
    subject: `New task: ${task.title}`,
    text,
    html: `<pre style="font-family:inherit;white-space:pre-wrap">${escapeHtml(text)}</pre>`,
    messageId: `<task-${task.taskId}@drumbeat>`,
    headers: { 'X-Drumbeat-Task': task.taskId },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
