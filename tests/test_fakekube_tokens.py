"""fakekube accepts the tokens of its service-account-token Secrets besides its own, until they are deleted."""

import base64

from tests.fakekube import FakeKube
from tests.fakekube.pyclient import api_client, call

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def token_secret(name, token, type_="kubernetes.io/service-account-token"):
    return {"apiVersion": "v1", "kind": "Secret", "type": type_,
            "metadata": {"name": name, "namespace": "istio-system",
                         "annotations": {"kubernetes.io/service-account.name": "reader"}},
            "data": {"token": base64.b64encode(token.encode()).decode()}}


def as_user(kube, token):
    return api_client(kube, token=token)


def can_list_pods(client):
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}}}
    return call(client, "POST", SSAR, body=review)


def test_service_account_tokens_authenticate_until_their_secret_is_deleted():
    with FakeKube(token="admin") as kube:
        kube.add(token_secret("reader-token", "sa-token"))
        kube.add(token_secret("opaque", "opaque-token", type_="Opaque"))
        reader = as_user(kube, "sa-token")
        answer = can_list_pods(reader)
        assert answer.status == 201 and answer.body["status"]["allowed"] is True
        assert call(reader, "GET", "/api/v1/namespaces/istio-system/pods").status == 200
        assert can_list_pods(as_user(kube, "opaque-token")).status == 401  # only service-account tokens
        assert can_list_pods(as_user(kube, "wrong")).status == 401
        kube.deny(verb="list", resource="pods")
        assert can_list_pods(reader).body["status"]["allowed"] is False
        kube.delete_object("secrets", "reader-token", "istio-system")
        assert can_list_pods(reader).status == 401  # revoked
        assert can_list_pods(as_user(kube, "admin")).status == 201
