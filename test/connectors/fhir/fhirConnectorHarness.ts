import type { Connector } from '../../../connectors/connector.ts';
import { ConnectorHarness } from '../connectorHarness.ts';

/** The connector harness reading back the FHIR inbound topic instead of the HL7v2 one. */
export class FhirConnectorHarness<C extends Connector = Connector> extends ConnectorHarness<C> {
  override get inboundTopic(): string {
    return this.hub.kafka.topics.fhirInbound;
  }
}
