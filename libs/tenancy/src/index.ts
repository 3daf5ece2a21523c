export * from './api-keys.js';
export * from './context.js';
export * from './current.js';
export * from './ids.js';
export * from './scopes.js';
