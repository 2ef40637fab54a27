import { serve } from '../main.ts';
import type { Command } from './command.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the hub: connectors, pipeline and FHIR API (config/default.yaml, HUB_CONFIG, env)',
  usage: 'hub serve',
  async run() {
    await serve();
    // Keeps running until a signal; serve() exits the process itself.
    await new Promise(() => undefined);
    return 0;
  },
};
