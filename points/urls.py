from django.urls import path

from . import views

app_name = "points"

urlpatterns = [
    path("pool/", views.pool, name="pool"),
    path("purchases/new/", views.purchase_new, name="purchase_new"),
    path("adjustments/new/", views.adjustment_new, name="adjustment_new"),
    path("transfers/<int:transfer_id>/reverse/", views.transfer_reverse, name="transfer_reverse"),
    path("replenish/", views.points_replenish, name="replenish"),
    path("customers/<int:customer_id>/change/", views.points_change, name="change"),
    path("purchase-requests/", views.purchase_request_list, name="purchase_requests"),
    path("purchase-requests/new/", views.purchase_request_new, name="purchase_request_new"),
    path("purchase-requests/<int:request_id>/record/", views.purchase_request_record, name="purchase_request_record"),
    path(
        "purchase-requests/<int:request_id>/decline/", views.purchase_request_decline, name="purchase_request_decline"
    ),
    path("rules/", views.rules, name="rules"),
    path("rules/new/", views.rule_new, name="rule_new"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
]
