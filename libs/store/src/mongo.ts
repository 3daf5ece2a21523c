import type { Logger } from '@kb/log';
import mongoose, { type Connection } from 'mongoose';

/**
 * Opens a MongoDB connection for one service (each service owns its own collections). Only features that
 * FerretDB v1 supports are used anywhere: no transactions, change streams, TTL indexes or `$lookup`.
 */
export async function connectMongo(url: string, log: Logger): Promise<Connection> {
  // Mongoose otherwise formats a stack trace at every query, for an error message about running a query
  // twice, which the stores never do: a measurable share of each service's CPU per document.
  mongoose.set('skipOriginalStackTraces', true);
  const connection = mongoose.createConnection(url, {
    serverSelectionTimeoutMS: 5_000,
    maxPoolSize: 20,
    autoIndex: true,
  });
  connection.on('disconnected', () => log.warn('mongodb disconnected'));
  connection.on('reconnected', () => log.info('mongodb reconnected'));
  await connection.asPromise();
  return connection;
}
