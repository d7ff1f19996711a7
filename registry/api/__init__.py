"""The registry's pipeline API: training runs, model versions, validation and gates, promotion requests,
deployments, monitoring and incidents; ``serializers`` hold the shapes, ``views`` the endpoints and ``urls`` the
routes, as in NetBox's apps."""
