export { createApp, type AppDeps } from './app.js';
export { HttpProblem, type ProblemItem } from './problem.js';
