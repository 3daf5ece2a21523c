export * from './mongo.js';
export * from './redis.js';
export * from './scoped.js';
