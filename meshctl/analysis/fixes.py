"""How to fix what each code reports, in a sentence (docs/analyzers.md shows them)."""

FIXES: dict[str, str] = {
    "IST0002": "Move to the replacement the message names; the deprecated form will stop working.",
    "IST0101": "Create the referenced object, or correct the name (and namespace) in the reference.",
    "IST0102": "Label the namespace `istio.io/dataplane-mode=ambient` (meshctl namespace enroll), or "
               "`istio-injection=disabled` if it should stay out of the mesh.",
    "IST0103": "Restart the pod (kubectl rollout restart) so the injector adds the proxy, or enroll the namespace in ambient.",
    "IST0106": "Correct the field the message names; the API server's validation would reject or ignore it.",
    "IST0107": "Move the annotation to the kind of object the message names.",
    "IST0108": "Check the annotation's spelling; unknown `*.istio.io` annotations have no effect.",
    "IST0109": "Merge the VirtualServices that define the host into one.",
    "IST0110": "Give each Sidecar a workload selector that picks distinct pods.",
    "IST0111": "Keep one Sidecar without a selector per namespace; give the others selectors.",
    "IST0112": "Add `port.number` to the destination.",
    "IST0116": "Use one protocol per port across the Services that select the Deployment.",
    "IST0118": "Name the port `<protocol>[-suffix]` (e.g. `http-web`) or set `appProtocol`.",
    "IST0123": "Keep a single enrollment label: `istio.io/dataplane-mode=ambient`, `istio-injection` or `istio.io/rev`.",
    "IST0125": "Set the annotation to a value of the kind the message names.",
    "IST0126": "Name an existing cluster ID (istiod's CLUSTER_ID or a remote secret's cluster) as the registry.",
    "IST0127": "Fix the selector's labels so they match the pods, or remove the unused resource.",
    "IST0128": "Set `tls.caCertificates` (or `credentialName`) so the server's certificate is verified.",
    "IST0129": "Set `tls.caCertificates` on the port-level policy so the server's certificate is verified.",
    "IST0130": "Reorder the rules (most specific first) or remove the rule that can never match.",
    "IST0131": "Remove the duplicate match, or move the more specific rule first.",
    "IST0132": "Add the VirtualService's hosts to a server of the Gateway, or bind it to the right Gateway.",
    "IST0133": "Update the field the message names; it still works but is discouraged.",
    "IST0134": "Add `addresses` to the ServiceEntry (or let Istio allocate them).",
    "IST0135": "Use the replacement the message names.",
    "IST0137": "Point the Services' targetPort at one port of the Deployment, or split the Deployment.",
    "IST0138": "Use a separate certificate per Gateway.",
    "IST0139": "Make the webhooks select disjoint namespaces/objects and point at an existing service.",
    "IST0140": "Route to subsets from a VirtualService bound to the mesh, not to the ingress gateway.",
    "IST0144": "Run the application as another user ID than 1337.",
    "IST0145": "Merge the Gateways, or give them different ports, hosts or selectors.",
    "IST0146": "Enable injection for the object's namespace, or set a real image instead of `auto`.",
    "IST0147": "Enable injection for the object's namespace, or set a real image instead of `auto`.",
    "IST0148": "Label the namespace explicitly (ambient, injection enabled or disabled).",
    "IST0149": "Add a RequestAuthentication that applies to the gateway's pods.",
    "IST0150": "Name the ExternalName Service's port with its protocol (e.g. `tcp-db`).",
    "IST0151": "Set `priority` on the EnvoyFilter so relative operations apply in a known order.",
    "IST0152": "Use REPLACE only with applyTo HTTP_FILTER or NETWORK_FILTER.",
    "IST0153": "Use MERGE (or another applyTo) instead of ADD for route configuration.",
    "IST0154": "Use another applyTo; REMOVE does nothing on route configuration.",
    "IST0155": "Set `priority` and drop the proxy-version match, or re-check the filter after each upgrade.",
    "IST0157": "Add the provider to the mesh config's `extensionProviders`, or correct its name.",
    "IST0158": "Restart the namespace's pods so they get the current proxy image.",
    "IST0159": "Give each Telemetry a selector that picks distinct pods.",
    "IST0160": "Keep one Telemetry without a selector per namespace.",
    "IST0161": "Fix the credential Secret: it must hold a valid, unexpired certificate and its key.",
    "IST0162": "Expose the gateway's port on the gateway workload's Service.",
    "IST0163": "Set a valid URL or service on the webhook.",
    "IST0164": "Use a host name in the webhook address.",
    "IST0165": "Bind the VirtualService to an ingress gateway instead of the internal one.",
    "IST0166": "Attach policies with `targetRefs` to the Gateway instead of a selector.",
    "IST0167": "Remove the policy or make it select the workloads it was meant for.",
    "IST0170": "Give the Service the same ports and type in every cluster (it is merged across clusters).",
    "IST0171": "Read the condition's reason and message on the object, and fix what it names.",
    "IST0173": "Correct the subset's labels, or deploy pods that carry them.",
    "IST0174": "Point the DestinationRule at an existing Service or ServiceEntry host.",
    "IST0175": "Use a public jwksUri, or list the address range in istiod's BLOCKED_CIDRS_IN_JWKS_URIS.",
    "IST0176": "Upgrade the Gateway API CRDs to the version the message names.",
    "IST0177": "Declare the port with one protocol in every ServiceEntry for the host.",
    "MSH0001": "Create the waypoint (`meshctl waypoint apply -n <namespace> --name <name>`), or make "
               "`istio.io/use-waypoint` (and `istio.io/use-waypoint-namespace`) name an existing Gateway of class "
               "`istio-waypoint`.",
    "MSH0002": "Label the waypoint Gateway `istio.io/waypoint-for` with the traffic its users send: `service` "
               "(Services, ServiceEntries), `workload` (pods, WorkloadEntries) or `all` "
               "(`meshctl waypoint apply --for all`), or point the user at a waypoint of that type.",
    "MSH0003": "On the waypoint's HBONE listener (port 15008) set `allowedRoutes.namespaces.from: All`, or "
               "`Selector` with a selector matching the user's namespace; or use a waypoint in that namespace.",
    "MSH0004": "Add the listener `{name: mesh, port: 15008, protocol: HBONE}` to the Gateway "
               "(`meshctl waypoint generate` prints the whole shape).",
    "MSH0005": "Choose one data plane: remove `istio.io/dataplane-mode=ambient`, or stop the injection "
               "(`sidecar.istio.io/inject: \"false\"` on the pods, or no `istio-injection=enabled` on the "
               "namespace) and restart the pods.",
    "MSH0101": "Create the InferencePool (`meshctl inference scaffold` writes one), or correct the backendRef's "
               "`name` and `namespace`.",
    "MSH0102": "Set the backendRef's `group: inference.networking.k8s.io`, and serve the pool as "
               "`inference.networking.k8s.io/v1`.",
    "MSH0103": "Create a ReferenceGrant in the pool's namespace from `HTTPRoute` in the route's namespace to "
               "`InferencePool` (group `inference.networking.k8s.io`), or move the route next to the pool.",
    "MSH0104": "Send the traffic to the InferencePool through an HTTPRoute, or point the GRPCRoute at a Service.",
    "MSH0105": "Attach the route to a Gateway of class `istio` (a `parentRefs` entry of kind Gateway), not to a "
               "waypoint or a Service.",
    "MSH0106": "Give each InferencePool a rule of its own (matched on a header or path), or serve the models "
               "from one pool.",
    "MSH0107": "Set `timeouts.request` on the rule to the longest generation you accept (e.g. `300s`; `0s` "
               "turns the limit off explicitly).",
    "MSH0108": "Recreate the pool as `inference.networking.k8s.io/v1` (`selector.matchLabels`, `targetPorts`, "
               "`endpointPickerRef`) and point the routes and the endpoint picker's `--pool-group` at that group.",
    "MSH0109": "Set `spec.targetPorts[].number` to the port the model server listens on, or declare that port "
               "in the model server container's `ports`.",
    "MSH0110": "Set `spec.endpointPickerRef` to the endpoint picker's Service (`group: \"\"`, `kind: Service`, "
               "`name`, `port.number`); `meshctl inference scaffold` writes a complete set.",
    "MSH0111": "Create the endpoint picker's Service, or correct `endpointPickerRef.name`.",
    "MSH0112": "Make the endpoint picker's Service a ClusterIP Service selecting the picker's pods.",
    "MSH0113": "Set `endpointPickerRef.port.number` to a port of the endpoint picker's Service (its gRPC port, "
               "9002 by default), not a container port.",
    "MSH0114": "Run the picker with `--pool-name <pool> --pool-namespace <namespace> --pool-group "
               "inference.networking.k8s.io`, or point the pool's `endpointPickerRef` at the picker that serves it.",
    "MSH0115": "Apply a DestinationRule for the picker's host with `trafficPolicy.tls.mode: SIMPLE` and "
               "`insecureSkipVerify: true` (or `caCertificates` for its CA); `meshctl inference scaffold` writes one.",
    "MSH0116": "Set `tls.mode: SIMPLE` (with `insecureSkipVerify: true`, or `caCertificates`) for the endpoint "
               "picker's host and port in the DestinationRule.",
    "MSH0117": "Make `spec.poolRef` name an existing InferencePool in the objective's namespace (`group: "
               "inference.networking.k8s.io`), or create the pool.",
    "MSH0201": "Configure agentgateway with Gateway API resources (HTTPRoute, policies of its own controller), or "
               "move the Gateway to an Envoy class (`istio`) if it needs Istio's policies.",
    "MSH0301": "Label the Service `istio.io/global=true` in every cluster that has it (`kubectl -n <namespace> label "
               "service <name> istio.io/global=true`), or remove the label everywhere to keep it local.",
    "MSH0303": "Use one waypoint name in every cluster: create the waypoint under the name the other clusters use "
               "(`meshctl waypoint apply -n <namespace> --name <name> --enroll-namespace --overwrite`), then "
               "delete the old one.",
    "MSH0304": "Give each cluster its own name at install (`--set values.global.multiCluster.clusterName=<name>`, "
               "with the values it was installed with), then link the clusters again.",
    "MSH0305": "Install every cluster with the same meshID (`--set values.global.meshID=<id>`, with the values it "
               "was installed with).",
    "MSH0306": "Recreate the remote secret under the peer's own cluster name (`meshctl multicluster link "
               "--context A --context B` writes both directions), and delete the misnamed one.",
}
