export * from './connect.js';
export * from './errors.js';
export * from './headers.js';
export * from './jetstream.js';
export * from './meter.js';
export * from './request.js';
export * from './service.js';
export * from './verify.js';
