// Salesforce: per-tenant SDK clients, the vendor's breaker, its error classification. (Being built.)
export class SalesforceConnector {}
