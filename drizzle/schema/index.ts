// Every table of the Tollgate database; drizzle-kit generates drizzle/migrations from this.
export * from './identity.js';
export * from './usage.js';
export * from './budgets.js';
export * from './control.js';
export * from './ownership.js';
export * from './alerts.js';
export * from './access.js';
