export * from './process.js';
export * from './sampling.js';
export * from './service.js';
export * from './shutdown.js';
export * from './status.js';
