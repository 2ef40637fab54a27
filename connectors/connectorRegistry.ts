import { HubError } from '../hub/core/hubError.ts';
import type { Connector, ConnectorContext, ConnectorFactory } from './connector.ts';
import { createMllpConnector } from './hl7v2-mllp/mllpConnector.ts';

/** Connector kinds by the `kind` used in config. A new kind is one module and one line here. */
const FACTORIES: Record<string, ConnectorFactory> = {
  'hl7v2-mllp': createMllpConnector,
};

export function connectorKinds(): string[] {
  return Object.keys(FACTORIES);
}

export function createConnector(ctx: ConnectorContext): Connector {
  const factory = FACTORIES[ctx.config.kind];
  if (!factory) {
    throw new HubError('CONFIG_CONNECTOR_KIND_UNKNOWN', `connector "${ctx.config.id}" has unknown kind "${ctx.config.kind}" (known: ${connectorKinds().join(', ')})`, { path: `connectors.${ctx.config.id}.kind` });
  }
  return factory(ctx);
}
