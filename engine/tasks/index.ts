// Tasks for users (sales reps): creation with assignment strategies, completion as an event.
export {
  assigneeDirectory,
  chooseAssignee,
  assignableUser,
  findUser,
  holdActiveUsers,
  missingAssignee,
  stillActive,
  userByRef,
  type MissingAssignee,
} from './assign.js';
export { completeTask, createTask, type NewTask, type TaskPriority } from './tasks.js';
export { removeUser, type RemovalOutcome, type UserRemoval } from './users.js';
