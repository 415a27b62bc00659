// The `tollgate` entry point: the registry's commands dispatched on the process's arguments.
import { dispatch } from './dispatch.js';
import { commands } from './registry.js';

process.exitCode = await dispatch(commands, process.argv.slice(2));
